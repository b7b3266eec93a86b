"""Purchase: coin packages and prices per country, purchases, the payment processor adapter, chargebacks.

Beyond the common layout (see `services`): `domain/pricing.py` (price lists per country),
`adapters/processor.py` (the card processor port and its sandbox adapter), and
`service_layer/reconcile.py` run by `entrypoints/reconciler.py` (settling purchases whose
charge had an unknown outcome).
"""
