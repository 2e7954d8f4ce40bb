"""The SMTP front: submission (587 STARTTLS, 465 implicit TLS) and the port 25 role, Twisted
glue over ``maa.proto.smtp`` feeding ``maa.queue``. ``server.build_factory``,
``server.build_mx_factory``; the decisions are in ``policy``."""
