"""``python -m dify_mgmt_async.cli``: the same as the ``dify-mgmt`` console script."""

from . import main

main()
