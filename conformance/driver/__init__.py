"""The Twisted driver: connections, the step interpreter and the concurrent runner.

This is the only package that imports Twisted. ``async def`` inside; Deferreds only at the
edges (:func:`conformance.driver.runner.run_suite` returns one).
"""
