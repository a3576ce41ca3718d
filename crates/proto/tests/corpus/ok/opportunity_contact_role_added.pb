

evt-role-1€·ßÄ3€·ßÄ3"
salesforceš
opp-1p-2decision maker