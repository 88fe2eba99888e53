"""Watching runs: the browser app (``twin viz``), domain views of every twin, sessions
with compare mode, and GIF/MP4 replays.

The top layer: it imports ``twin``, ``models`` and ``experiments``; nothing imports it.
"""
