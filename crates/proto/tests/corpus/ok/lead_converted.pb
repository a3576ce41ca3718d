

evt-conv-1€¦è¾Ä3è­è¾Ä3"
salesforcer
p-1acc-1opp-1