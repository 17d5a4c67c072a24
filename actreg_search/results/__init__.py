"""The read model and what is read from it: ranked trials, paired statistics, intervals, exports, the markdown report.

Free of TensorFlow: only :func:`actreg_search.results.export.save_model`
(``export --model``) imports an engine, when called.
"""
