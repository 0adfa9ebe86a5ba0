
Boutput_0J98- ýº