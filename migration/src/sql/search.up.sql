-- Search (issue #5): full-text GIN indexes on the text of each searchable table (expression
-- indexes: queries use the same expressions), and HNSW indexes (cosine) on vectors of the default
-- dimension, 384 (the built-in embedder's and all-MiniLM-L6-v2's). `atlas migrate` adds the same
-- for ATLAS_EMBEDDING_DIMENSIONS when it is another (as halfvec above 2,000 dimensions).
CREATE INDEX kb_chunks_fts_idx ON kb_chunks USING gin (to_tsvector('english', content));
CREATE INDEX data_records_fts_idx ON data_records USING gin (to_tsvector('english', content));
CREATE INDEX code_embeddings_fts_idx ON code_embeddings USING gin (to_tsvector('simple', content));
CREATE INDEX file_chunks_fts_idx ON file_chunks USING gin (to_tsvector('english', content));

CREATE INDEX kb_chunks_embedding_384_idx ON kb_chunks
  USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384;
CREATE INDEX data_records_embedding_384_idx ON data_records
  USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384;
CREATE INDEX code_embeddings_embedding_384_idx ON code_embeddings
  USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384;
CREATE INDEX file_chunks_embedding_384_idx ON file_chunks
  USING hnsw ((embedding::vector(384)) vector_cosine_ops) WHERE vector_dims(embedding) = 384;
