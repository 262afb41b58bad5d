// PostGraphile v5 over Atlas's own database, for `make bench`: the same tables, rows and
// row-level-security policies, connecting as Atlas's app role. The request's bearer token (an
// Atlas token, HS256 with ATLAS_JWT_SECRET) is verified here and its claims become the same
// session settings Atlas sets (`app.tenant_id`, `app.user_id`), so both servers pay for isolation.
import { PostGraphileAmberPreset } from "postgraphile/presets/amber";
import { makePgService } from "postgraphile/adaptors/pg";
import { makeJSONPgSmartTagsPlugin } from "postgraphile/utils";
import jwt from "jsonwebtoken";

// Atlas has an enum `file_permission` and a table `file_permissions`: PostGraphile would name both
// `FilePermission`, so the table's type is renamed (it is not part of the measured queries).
const RenamesPlugin = makeJSONPgSmartTagsPlugin({
  version: 1,
  config: { class: { file_permissions: { tags: { name: "file_grants" } } } },
});

const secret = process.env.ATLAS_JWT_SECRET;

export default {
  extends: [PostGraphileAmberPreset],
  plugins: [RenamesPlugin],
  pgServices: [
    makePgService({
      connectionString: process.env.DATABASE_URL,
      schemas: ["public"],
      poolConfig: { max: Number(process.env.PEER_POOL_SIZE || 20) },
    }),
  ],
  grafserv: { host: "127.0.0.1", port: Number(process.env.PORT || 5005), graphiql: false },
  grafast: {
    context(requestContext) {
      const header = requestContext.node?.req?.headers?.authorization ?? "";
      const token = header.startsWith("Bearer ") ? header.slice(7) : null;
      if (!token) return { pgSettings: { "app.tenant_id": "", "app.user_id": "" } };
      const claims = jwt.verify(token, secret, { algorithms: ["HS256"] });
      return { pgSettings: { "app.tenant_id": claims.tenant_id ?? "", "app.user_id": claims.sub ?? "" } };
    },
  },
};
