"""The words the features use, as regular expressions shared by every step module."""
from adapters.world import PARTIES, ROLELESS_PARTIES

PARTY = "(?:the )?(?P<party>" + "|".join(sorted([*PARTIES, *ROLELESS_PARTIES], key=len, reverse=True)) + ")"
OTHER = "(?:the )?(?P<other>" + "|".join(sorted(PARTIES, key=len, reverse=True)) + ")"
S1SP = r"(?P<s1sp>S1SP\d+)"
FUEL = r"(?P<fuel>electricity|gas)"
ROLE = r"(?P<role>NetworkOperator|Supplier)"
CODE = r"(?P<code>[A-Z][A-Z0-9]*\d+)"
