"""Watching runs: domain views, interactive sessions (compare mode) and GIF replays.

The top layer: it imports ``twin``, ``models`` and ``experiments``; nothing imports it.
"""
