
Boutput_0J/Ço¼bB$Æ