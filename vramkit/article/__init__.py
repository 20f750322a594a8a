"""The DeepSeek V4 article's story, kept out of the core: its tables reproduced and audited.

tables: the article's rows and its sizing rule; audit: first-principles rows and the diff;
claims: its prose claims and the real-file anchors; quick_summary: its "what is realistic at
each VRAM scale" table asked of the planner; headline: the report's headline numbers;
kv_claims: its KV-cache claims checked. The core (catalog → accounting → budget → plan) never
imports this package; the faces (report, notebooks, the `article` command) do.
"""
