
evt-merge-1€èô†Å3€èô†Å3"crmº
p-1p-9same e-mail address