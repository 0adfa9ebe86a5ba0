
Binput_0J/Ço¼bB$Æ