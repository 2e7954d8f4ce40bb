"""POP3 front end: Twisted glue from ``maa.proto.pop3`` to auth and storage.
``maa.pop3.server.build_factory`` is what ``maa.service`` listens with."""
