
evt-touch-1юКНей3╗СНей3┌
p-1
webinar-q1 :