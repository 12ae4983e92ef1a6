# The grader corpus holds hostile and broken notebooks and the tests of a toy
# chapter: they are inputs of tests/test_grader_corpus.py, never run directly.
collect_ignore_glob = ["grader_corpus/*"]
