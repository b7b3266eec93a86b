"""Contains all the data models used in inputs/outputs"""

from .chargeback import Chargeback
from .chargeback_request import ChargebackRequest
from .chargeback_status import ChargebackStatus
from .internal_purchase import InternalPurchase
from .internal_purchase_chargeback_status_type_1 import InternalPurchaseChargebackStatusType1
from .internal_purchase_chargeback_status_type_2_type_1 import InternalPurchaseChargebackStatusType2Type1
from .internal_purchase_chargeback_status_type_3_type_1 import InternalPurchaseChargebackStatusType3Type1
from .internal_purchase_page import InternalPurchasePage
from .package import Package
from .package_price import PackagePrice
from .packages import Packages
from .payment import Payment
from .payment_method import PaymentMethod
from .problem import Problem
from .problem_errors import ProblemErrors
from .purchase import Purchase
from .purchase_page import PurchasePage
from .purchase_price import PurchasePrice
from .purchase_request import PurchaseRequest
from .purchase_status import PurchaseStatus
from .purchase_totals import PurchaseTotals
from .purchase_totals_events_applied import PurchaseTotalsEventsApplied
from .purchase_totals_events_published import PurchaseTotalsEventsPublished
from .purchase_totals_events_written import PurchaseTotalsEventsWritten

__all__ = (
    "Chargeback",
    "ChargebackRequest",
    "ChargebackStatus",
    "InternalPurchase",
    "InternalPurchaseChargebackStatusType1",
    "InternalPurchaseChargebackStatusType2Type1",
    "InternalPurchaseChargebackStatusType3Type1",
    "InternalPurchasePage",
    "Package",
    "PackagePrice",
    "Packages",
    "Payment",
    "PaymentMethod",
    "Problem",
    "ProblemErrors",
    "Purchase",
    "PurchasePage",
    "PurchasePrice",
    "PurchaseRequest",
    "PurchaseStatus",
    "PurchaseTotals",
    "PurchaseTotalsEventsApplied",
    "PurchaseTotalsEventsPublished",
    "PurchaseTotalsEventsWritten",
)
