"""OS errors mapped to storage errors in one place, for every public mbox method."""

from __future__ import annotations

import errno
import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

from maa.storage.interface import StorageError, TemporaryStorageError

# errno values that mean "try again later" rather than "this request is wrong".
_TEMPORARY_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.ENOLCK}

F = TypeVar("F", bound=Callable[..., Any])


def storage_errors(method: F) -> F:
    """OS errors become storage errors, so protocol layers map one family of exceptions."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except StorageError:
            raise
        except OSError as error:
            if error.errno in _TEMPORARY_ERRNOS:
                raise TemporaryStorageError(str(error)) from error
            raise StorageError(str(error)) from error

    return cast(F, wrapper)
