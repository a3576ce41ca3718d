
evt-fu-1ûÌÜ¨Â3à‰óÀÂ3"crmz'
p-1left a voicemail ôËÍº•+*rep-7