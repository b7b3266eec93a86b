"""Payout: creators, their earnings in diamonds, withdrawals, the payout processor adapter.

Beyond the common layout (see `services`): `adapters/processor.py` (the payout processor port
and its sandbox adapter), `entrypoints/consumer.py` (each gift credits its creator's diamonds)
and `entrypoints/payout_worker.py` running `service_layer/payouts.py` (claims one withdrawal at
a time, sends it to the processor or looks it up, and settles or holds it), on
`adapters/repository.py` (its withdrawals' claims fenced by a claim token).
"""
