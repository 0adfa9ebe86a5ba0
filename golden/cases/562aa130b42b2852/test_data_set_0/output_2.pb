
Boutput_2J ¡Cw9KMÓIÏBu=C6;Oò@^:0? A@Æ@ÑI#>