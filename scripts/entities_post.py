"""Post-process sea-orm-cli output (STACK.md): vector columns become pgvector types.

sea-orm-cli 2.0.4 does not know `vector`: it emits an ignored String field and derives Eq.
We rewrite the field to `PgVector` with `Vector(None)` and drop `Eq` from that model, since
`pgvector::Vector` is only PartialEq. This is the only edit ever made to generated entities."""
import pathlib
import re
import sys

IGNORED_VECTOR = re.compile(
    r'#\[sea_orm\(\s*ignore,\s*column_type = "custom\(\\"vector\\"\)",\s*select_as = "text"(?:,\s*nullable)?,?\s*\)\]\s*\n'
    r'(\s*)pub (\w+): (Option<String>|String),'
)


def fix(text: str) -> str:
    def field(m: re.Match) -> str:
        indent, name, ty = m.group(1), m.group(2), m.group(3)
        rust = "Option<PgVector>" if ty.startswith("Option") else "PgVector"
        nullable = ", nullable" if ty.startswith("Option") else ""
        return f'#[sea_orm(column_type = "Vector(None)"{nullable})]\n{indent}pub {name}: {rust},'

    new, n = IGNORED_VECTOR.subn(field, text)
    if n:
        new = new.replace("PartialEq, Eq, DeriveEntityModel", "PartialEq, DeriveEntityModel")
        new = new.replace("use sea_orm::entity::prelude::*;", "use sea_orm::entity::prelude::*;\nuse sea_orm::prelude::PgVector;", 1)
    return new


for path in pathlib.Path(sys.argv[1]).glob("*.rs"):
    text = path.read_text()
    fixed = fix(text)
    if fixed != text:
        path.write_text(fixed)
