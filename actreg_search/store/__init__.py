"""Where studies live: the storage, the stored keys, the one writer (recorder) and the one reader.

The write side (:mod:`~actreg_search.store.recorder`) and the read side
(:mod:`~actreg_search.store.reader`) meet only at the stored keys
(:mod:`~actreg_search.store.keys`).
"""
