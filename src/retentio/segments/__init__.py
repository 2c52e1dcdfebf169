"""Segments: rules over contacts compiled to one SQL statement, their stored membership (with
entered/left history and size history), static lists, prebuilt segments and the worker jobs
that keep dynamic segments fresh."""
