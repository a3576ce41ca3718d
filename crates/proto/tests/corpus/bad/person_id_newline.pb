
evt-touch-1ÀëîÅÊ3¨óîÅÊ3"web‚>
p-1
X-Injected: yes
webinar-q1 *recording-q12	analytics