"""Sans-IO codecs: encoders that may lie and decoders that tell the truth.

Nothing in this package imports Twisted (a test checks it). Decoders accept any bytes and
never raise on what a peer sends: they return what they found plus the violations they saw.
"""
