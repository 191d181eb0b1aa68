"""Prediction: what one replica of a configuration needs and delivers.

`memory` (weights, KV cache, engine reserves: how many users fit), `work` (FLOPs and bytes per token
of an architecture), `fabric` (the links a layout uses, all-reduce cost), `speed` (TTFT, TPOT and
throughput at a load), `compat` (engine x hardware x precision rules), `estimate` (one configuration,
with its error band), `sizing` (the guide's memory table), `calibration` (fitting the speed model's
factors to measurements).  Depends on solver.schema only.
"""
