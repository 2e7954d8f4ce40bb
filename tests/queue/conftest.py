from queue_fixtures import maillog, make_ctx, tls_pair

__all__ = ["maillog", "make_ctx", "tls_pair"]
