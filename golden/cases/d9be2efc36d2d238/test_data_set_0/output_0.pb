
Boutput_0Jxµ	1xµ2¶o¿