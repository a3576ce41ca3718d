
evt-touch-1ÀëîÅÊ3ÿÿÿÿÿÿÿÿ"web‚.
p-1
webinar-q1 *recording-q12	analytics