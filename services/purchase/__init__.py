"""Purchase: coin packages and prices per country, purchases, the payment processor adapter, chargebacks."""
