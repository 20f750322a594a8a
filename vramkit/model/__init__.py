"""A model's own facts, read from what describes it: its config read into a record (configfile),
its tensor inventory (tensors), parameter counts by group (params), the checkpoint formats its
quantization_config names (checkpoint_formats), MoE routing (routing: experts a batch touches), the catalog's consistency checks
(catalog_checks) and its anatomy tables (anatomy). Lookups by id live in `vramkit.catalog`.
"""
