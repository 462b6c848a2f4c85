"""The balance poller benchmark: ``python -m benchmarks.poller`` (``--help`` for options).

10,000 accounts polled with concurrency 200 against a canned server in its own process that answers after
50 ms: one full round cannot beat 10,000 x 50 ms / 200 = 2.5 s, so the round time says how much the client
side (poller, client, aiohttp) adds on top of the network's bound. Peak RSS and CPU per poll come with it.
"""
