"""Browser tests of index.html: a package, so that the ``chromium`` fixture (package scope)
is torn down when these tests end, before any other directory's tests run."""
