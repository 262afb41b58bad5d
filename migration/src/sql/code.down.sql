DROP TABLE IF EXISTS code_embeddings, reviews, commits CASCADE;
DROP TYPE IF EXISTS review_status;
