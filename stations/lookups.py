"""A `prefix` lookup that each database can serve from a btree.

Django's `startswith` becomes `LIKE 'x%'`, which SQLite never answers from an index (its LIKE is
case-insensitive) and which PostgreSQL answers only from a *_pattern_ops index. `GLOB 'x*'` on SQLite is
case-sensitive and uses the ordinary index; on PostgreSQL the LIKE is kept, without Django's `::text` cast, so
the varchar_pattern_ops indexes of migration 0002 match it.
"""

from __future__ import annotations

import re

from django.db.models import CharField, Lookup


@CharField.register_lookup
class Prefix(Lookup):
    lookup_name = "prefix"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} LIKE %s", [*lhs_params, connection.ops.prep_for_like_query(str(self.rhs)) + "%"]

    def as_sqlite(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} GLOB %s", [*lhs_params, re.sub(r"([*?\[\]])", r"[\1]", str(self.rhs)) + "*"]
