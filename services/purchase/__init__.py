"""Purchase: coin packages and prices per country, purchases, the payment processor adapter, chargebacks.

Beyond the common layout (see `services`): `domain/pricing.py` (price lists per country),
`adapters/processor.py` (the card processor port and its sandbox adapter),
`service_layer/settlement.py` (settling a pending purchase by the processor's answer under a
live claim, chargebacks, the review of held purchases), and `service_layer/reconcile.py` run by
`entrypoints/reconciler.py` (looking up purchases whose charge had an unknown outcome).
"""
