"""Conversion on a Ray cluster: chunks rendered by one actor per GPU, joined and encoded once.

Nothing here imports Ray at import time: :func:`stsr.plugin.cluster.coordinator.ray_module`
loads it only when ``--workers`` or ``--cluster`` is used, so ``import stsr`` and the
CLI never pay for it (and run without it).
"""
