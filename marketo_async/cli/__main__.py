"""``python -m marketo_async.cli``: the same as the ``marketo-async`` script."""

from ._app import main

if __name__ == "__main__":
    main()
