"""``python -m marketo_async.cli``: the same as the ``marketo-async`` script."""

from ._main import main

if __name__ == "__main__":
    main()
