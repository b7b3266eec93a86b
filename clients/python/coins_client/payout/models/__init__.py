"""Contains all the data models used in inputs/outputs"""

from .change_payout_method_request import ChangePayoutMethodRequest
from .creator import Creator
from .creator_payout_method import CreatorPayoutMethod
from .earnings import Earnings
from .fee_rule import FeeRule
from .internal_account import InternalAccount
from .internal_account_page import InternalAccountPage
from .internal_account_withdrawal import InternalAccountWithdrawal
from .internal_earning import InternalEarning
from .internal_earning_page import InternalEarningPage
from .internal_withdrawal import InternalWithdrawal
from .internal_withdrawal_page import InternalWithdrawalPage
from .lift_method_hold_request import LiftMethodHoldRequest
from .method_hold_lift import MethodHoldLift
from .payout_method import PayoutMethod
from .payout_method_change import PayoutMethodChange
from .payout_method_change_payout_method import PayoutMethodChangePayoutMethod
from .payout_method_change_previous import PayoutMethodChangePrevious
from .payout_method_changes import PayoutMethodChanges
from .payout_method_type import PayoutMethodType
from .payout_totals import PayoutTotals
from .payout_totals_events_applied import PayoutTotalsEventsApplied
from .payout_totals_events_published import PayoutTotalsEventsPublished
from .payout_totals_events_written import PayoutTotalsEventsWritten
from .problem import Problem
from .problem_errors import ProblemErrors
from .register_creator_request import RegisterCreatorRequest
from .withdrawal import Withdrawal
from .withdrawal_request import WithdrawalRequest
from .withdrawal_request_currency import WithdrawalRequestCurrency
from .withdrawal_rules import WithdrawalRules
from .withdrawal_rules_fees import WithdrawalRulesFees
from .withdrawal_status import WithdrawalStatus

__all__ = (
    "ChangePayoutMethodRequest",
    "Creator",
    "CreatorPayoutMethod",
    "Earnings",
    "FeeRule",
    "InternalAccount",
    "InternalAccountPage",
    "InternalAccountWithdrawal",
    "InternalEarning",
    "InternalEarningPage",
    "InternalWithdrawal",
    "InternalWithdrawalPage",
    "LiftMethodHoldRequest",
    "MethodHoldLift",
    "PayoutMethod",
    "PayoutMethodChange",
    "PayoutMethodChangePayoutMethod",
    "PayoutMethodChangePrevious",
    "PayoutMethodChanges",
    "PayoutMethodType",
    "PayoutTotals",
    "PayoutTotalsEventsApplied",
    "PayoutTotalsEventsPublished",
    "PayoutTotalsEventsWritten",
    "Problem",
    "ProblemErrors",
    "RegisterCreatorRequest",
    "Withdrawal",
    "WithdrawalRequest",
    "WithdrawalRequestCurrency",
    "WithdrawalRules",
    "WithdrawalRulesFees",
    "WithdrawalStatus",
)
