from queue_fixtures import maillog, make_ctx

__all__ = ["maillog", "make_ctx"]
