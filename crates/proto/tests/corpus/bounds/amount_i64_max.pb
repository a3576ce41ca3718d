
evt-tx-1€Øëƒè3ˆÿëƒè3"
accounting²O
inv-2026-0042acc-1opp-1"ÿÿÿÿÿÿÿÿUSD*credit note for a late delivery