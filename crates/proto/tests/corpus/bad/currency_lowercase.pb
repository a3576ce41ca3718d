
evt-close-1àíš²ä3˜…›²ä3"
salesforce¢ 
opp-1
À–±usd"	partner-3