
evt-campaign-1€˜®é¸3â¡®é¸3"marketoRi

webinar-q1Q1 product webinarevents"webinar*
newsletter2WQ18B
webinar-q1H€ÈÏ©º3PÿÿÛ²Ô3Z	àÆ[EUR