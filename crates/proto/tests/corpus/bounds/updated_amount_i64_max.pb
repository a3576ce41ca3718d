
evt-opp-upd-1€Çœ‰Ï3€Çœ‰Ï3"
salesforce’.
opp-1negotiationÿÿÿÿÿÿÿÿUSD F(€ ÒÚç3