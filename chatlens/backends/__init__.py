"""Backends: each implements :class:`chatlens.chatapi.ChatAPI` for one kind of data source."""
