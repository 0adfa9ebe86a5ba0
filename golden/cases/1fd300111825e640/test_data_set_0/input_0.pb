
Binput_0J$¯·0vDd¹õ8“;oCjº7v>Eý1Ç)=L»»ÀH¸m²