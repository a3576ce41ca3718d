
evt-fu-1€âàÀÂ3à‰óÀÂ3"crmz+
p-1left a voicemail €€€€€€€€€*rep-7