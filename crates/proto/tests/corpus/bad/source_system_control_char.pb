
evt-touch-1ÀëîÅÊ3¨óîÅÊ3"web[31m‚.
p-1
webinar-q1 *recording-q12	analytics